import{a as e}from"./rolldown-runtime-DoHqwKmD.js";import{a as t,n}from"./preload-helper-BGqbAlK5.js";import{d as r,f as i,g as a,h as o,m as s,o as c,r as l}from"./index-ztfaxJ23.js";import{t as u}from"./useDebounced-C1w2ac5V.js";import{o as d,s as f,t as p}from"./shared-BEd7kF1C.js";var m=e(t(),1),h=/[\p{L}\p{N}]+/gu;function g(e){let t=new Set;for(let n of e.normalize(`NFC`).matchAll(/(-?)"([^"]*)"?|(\S+)/g)){let e;if(n[2]!==void 0){if(n[1]===`-`)continue;e=n[2]}else{let t=n[3];if(t.startsWith(`-`)||t.toLowerCase()===`or`)continue;e=t}for(let n of e.matchAll(h))t.add(n[0].toLowerCase())}return[...t].sort((e,t)=>t.length-e.length||e.localeCompare(t))}function _(e){return e.replace(/[.*+?^${}()|[\]\\]/g,`\\$&`)}function v(e,t){if(e===``)return[];if(t.length===0)return[{text:e,match:!1}];let n=t.map(_).join(`|`),r=RegExp(`(?<![\\p{L}\\p{N}])(?:${n})(?![\\p{L}\\p{N}])`,`giu`),i=[],a=0;for(let t of e.matchAll(r)){let n=t.index;t[0]!==``&&(n>a&&i.push({text:e.slice(a,n),match:!1}),i.push({text:t[0],match:!0}),a=n+t[0].length)}return a<e.length&&i.push({text:e.slice(a),match:!1}),i}function y(e,t,n=280){if(e.length<=n)return e;let r=0,i=0;for(let a of v(e,t)){if(a.match){r=Math.max(0,i-Math.floor(n/3));break}i+=a.text.length}if(r>0){let t=e.indexOf(` `,r);t!==-1&&t-r<20&&(r=t+1)}let a=Math.min(e.length,r+n);if(a<e.length){let t=e.lastIndexOf(` `,a);t>r+n-20&&(a=t)}let o=t=>t>0&&t<e.length&&/[\uDC00-\uDFFF]/.test(e[t])?t-1:t;return r=o(r),a=o(a),`${r>0?`…`:``}${e.slice(r,a)}${a<e.length?`…`:``}`}function b(e,t){if(e.kind===`GROUP`)return e.title??`Group`;let n=e.members.find(e=>e.user.id!==t);return n?`Chat with ${n.user.displayName}`:`Direct chat`}function x(e,t){return e.id===t?`You`:e.displayName}var S=n(),C=i(`
  query SearchMessages($text: String!, $first: Int!, $after: String) {
    searchMessages(text: $text, first: $first, after: $after) {
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        id
        body
        createdAt
        editedAt
        sender {
          id
          displayName
          avatar {
            url(size: 128)
          }
        }
        session {
          id
          kind
          title
          members {
            user {
              id
              displayName
            }
          }
        }
      }
    }
  }
`);function w(e){let t=(0,m.useId)(),[n,r]=(0,m.useState)(``),[i,a]=(0,m.useState)(null),o=f(n),s=o===``?null:d(n),c=u(s?``:o,400),l=i===o?o:c,[h,g]=(0,m.useState)({search:``,cursors:[null]}),_=h.search===l?h.cursors:[null];return(0,S.jsxs)(`section`,{className:`f-page`,"aria-labelledby":`${t}-h`,children:[(0,S.jsx)(`h2`,{id:`${t}-h`,children:`Search`}),(0,S.jsxs)(`form`,{role:`search`,className:`f-form`,onSubmit:e=>{e.preventDefault(),!s&&o&&a(o)},noValidate:!0,children:[(0,S.jsx)(`label`,{htmlFor:`${t}-q`,className:`f-label`,children:`Search messages`}),(0,S.jsxs)(`div`,{className:`f-row`,children:[(0,S.jsx)(`input`,{id:`${t}-q`,type:`search`,value:n,maxLength:400,autoComplete:`off`,"aria-invalid":s?!0:void 0,"aria-describedby":`${t}-hint`,onChange:e=>r(e.target.value)}),(0,S.jsx)(`button`,{type:`submit`,disabled:!!s||o===``,children:`Search`})]}),(0,S.jsx)(`p`,{id:`${t}-hint`,className:`f-hint`,children:`Whole words, any case. Use "quotes" for a phrase, or between alternatives, and -word to leave a word out.`}),(0,S.jsx)(p,{message:s})]}),l!==``&&(0,S.jsx)(`ol`,{className:`f-hits`,"aria-label":`Results`,children:_.map((e,t)=>(0,S.jsx)(T,{search:l,after:e,first:t===0,last:t===_.length-1,onMore:e=>g({search:l,cursors:[..._,e]})},e??``))})]})}function T(e){let{viewer:t}=o(),n=t?.id??``,i=(0,m.useMemo)(()=>g(e.search),[e.search]),[{data:u,fetching:d,error:f},p]=s({query:C,variables:{text:e.search,first:20,after:e.after},requestPolicy:`cache-and-network`});if(!u)return(0,S.jsx)(`li`,{className:`f-hits-status`,children:f?(0,S.jsxs)(S.Fragment,{children:[(0,S.jsx)(`p`,{role:`alert`,className:`f-error`,children:r(f)}),(0,S.jsx)(`button`,{type:`button`,onClick:()=>p({requestPolicy:`network-only`}),children:`Try again`})]}):(0,S.jsx)(`p`,{className:`f-muted`,role:`status`,children:d?`Searching…`:``})});let{nodes:h,pageInfo:_}=u.searchMessages;return(0,S.jsxs)(S.Fragment,{children:[e.first&&h.length===0&&(0,S.jsx)(`li`,{className:`f-hits-status`,children:(0,S.jsxs)(`p`,{className:`f-muted`,role:`status`,children:[`No messages found for “`,e.search,`”.`]})}),h.map(e=>(0,S.jsx)(`li`,{className:`f-hit`,children:(0,S.jsxs)(a,{href:`/c/${e.session.id}`,className:`f-hit-link`,children:[(0,S.jsx)(l,{name:e.sender.displayName,url:e.sender.avatar?.url,size:36}),(0,S.jsxs)(`span`,{className:`f-hit-main`,children:[(0,S.jsxs)(`span`,{className:`f-hit-meta`,children:[(0,S.jsx)(`span`,{className:`f-strong`,children:x(e.sender,n)}),(0,S.jsx)(`span`,{className:`f-muted`,"aria-hidden":`true`,children:`·`}),(0,S.jsxs)(`span`,{className:`f-hit-place`,children:[(0,S.jsx)(`span`,{className:`visually-hidden`,children:`in `}),b(e.session,n)]}),(0,S.jsx)(`time`,{className:`f-hit-time f-muted`,dateTime:e.createdAt,children:c(e.createdAt)})]}),(0,S.jsx)(`span`,{className:`f-hit-body`,children:e.body===null||e.body===void 0?(0,S.jsx)(`em`,{className:`f-muted`,children:`Deleted message`}):v(y(e.body,i),i).map((e,t)=>e.match?(0,S.jsx)(`mark`,{children:e.text},t):(0,S.jsx)(`span`,{children:e.text},t))})]})]})},e.id)),e.last&&_.hasNextPage&&_.endCursor&&(0,S.jsx)(`li`,{className:`f-hits-status`,children:(0,S.jsx)(`button`,{type:`button`,disabled:d,onClick:()=>e.onMore(_.endCursor),children:`Load more`})})]})}export{w as SearchMessages};