import{a as e}from"./rolldown-runtime-DoHqwKmD.js";import{a as t,n}from"./preload-helper-BGqbAlK5.js";import{a as r,d as i,f as a,h as o,i as s,l as c,m as l,n as u,p as d,r as f,s as p,t as m}from"./index-ztfaxJ23.js";import{a as h,r as g,s as _,t as v}from"./shared-BEd7kF1C.js";import{t as y}from"./PageStatus-BHoC90eM.js";var b=e(t(),1),x=[`image/jpeg`,`image/png`,`image/webp`,`image/gif`],S=x.join(`,`);function C(e){return e.type&&!x.includes(e.type)?`Choose a JPEG, PNG, WebP or GIF picture.`:e.size===0?`That file is empty.`:e.size>5242880?`That picture is too large (${p(e.size)}): the largest accepted is 5 MB. Choose a smaller one.`:null}var w=n(),T=a(`
  query BlockedUsers($first: Int!, $after: String) {
    blockedUsers(first: $first, after: $after) {
      nodes {
        blockedAt
        user {
          id
          username
          displayName
          avatar {
            url(size: 128)
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`),E=50;function D(){let e=(0,b.useId)(),t=c(),n=(0,b.useRef)(null),[r,i]=(0,b.useState)([null]),[a,o]=(0,b.useState)(0),[s,l]=(0,b.useState)(null),[u,d]=(0,b.useState)(null),[f,p]=(0,b.useState)(``);async function m(e){l(e.id),d(null),p(``);let r=await t.setBlocked(e.id,!1);l(null),r?d(r):(p(`${e.displayName} is unblocked.`),i([null]),o(e=>e+1),n.current?.focus())}return(0,w.jsxs)(`section`,{className:`f-section`,"aria-labelledby":`${e}-h`,children:[(0,w.jsx)(`h3`,{id:`${e}-h`,ref:n,tabIndex:-1,children:`Blocked users`}),(0,w.jsx)(`p`,{className:`f-hint`,children:`People you blocked cannot message you or start a conversation with you; in groups their messages are collapsed.`}),(0,w.jsx)(`ul`,{className:`f-people`,"aria-labelledby":`${e}-h`,children:r.map((e,t)=>(0,w.jsx)(O,{after:e,first:t===0,last:t===r.length-1,busy:s,onMore:e=>i([...r,e]),onUnblock:e=>void m(e)},`${a}:${e??``}`))}),(0,w.jsx)(v,{message:u}),(0,w.jsx)(`p`,{role:`status`,className:`f-ok`,children:f})]})}function O(e){let[{data:t,error:n,fetching:i},a]=l({query:T,variables:{first:E,after:e.after},requestPolicy:`network-only`});if(!t)return(0,w.jsx)(y,{error:n,fetching:i,busyText:`Loading…`,onRetry:()=>a({requestPolicy:`network-only`})});let{nodes:o,pageInfo:s}=t.blockedUsers;return(0,w.jsxs)(w.Fragment,{children:[e.first&&o.length===0&&(0,w.jsx)(`li`,{className:`f-people-status f-muted`,children:`You have not blocked anyone.`}),o.map(({user:t,blockedAt:n})=>(0,w.jsxs)(`li`,{className:`f-person`,children:[(0,w.jsx)(f,{name:t.displayName,url:t.avatar?.url,size:36}),(0,w.jsxs)(`span`,{className:`f-person-name`,children:[(0,w.jsx)(`span`,{className:`f-strong`,children:t.displayName}),(0,w.jsxs)(`span`,{className:`f-username`,children:[`@`,t.username,` · blocked `,(0,w.jsx)(`time`,{dateTime:n,children:r(n)})]})]}),(0,w.jsx)(`button`,{type:`button`,"aria-label":`Unblock ${t.displayName}`,disabled:e.busy!==null,onClick:()=>e.onUnblock(t),children:e.busy===t.id?`Unblocking…`:`Unblock`})]},t.id)),e.last&&s.hasNextPage&&s.endCursor&&(0,w.jsx)(`li`,{className:`f-people-status`,children:(0,w.jsx)(`button`,{type:`button`,onClick:()=>e.onMore(s.endCursor),children:`Show more blocked users`})})]})}var k=a(`
  query ProfileSettings {
    me {
      id
      username
      displayName
      location
      avatar {
        url(size: 256)
      }
    }
  }
`),A=a(`
  mutation UpdateProfile($input: UpdateProfileInput!) {
    updateProfile(input: $input) {
      id
      displayName
      location
    }
  }
`),j=a(`
  mutation UploadAvatar($file: Upload!) {
    uploadAvatar(file: $file) {
      id
      avatar {
        url(size: 256)
      }
    }
  }
`),M=a(`
  mutation RemoveAvatar {
    removeAvatar {
      id
      avatar {
        url(size: 256)
      }
    }
  }
`);function N(e){let t=(0,b.useId)(),[{data:n,error:r,fetching:a},o]=l({query:k,requestPolicy:`cache-and-network`}),s=()=>o({requestPolicy:`network-only`});return(0,w.jsxs)(`section`,{className:`f-page`,"aria-labelledby":`${t}-h`,children:[(0,w.jsx)(`h2`,{id:`${t}-h`,children:`Profile`}),n?(0,w.jsxs)(w.Fragment,{children:[(0,w.jsx)(I,{me:n.me,refetch:s}),(0,w.jsx)(P,{me:n.me,refetch:s})]}):r?(0,w.jsxs)(`div`,{className:`f-section`,children:[(0,w.jsx)(`p`,{role:`alert`,className:`f-error`,children:i(r)}),(0,w.jsx)(`div`,{className:`f-actions`,children:(0,w.jsx)(`button`,{type:`button`,onClick:s,children:`Try again`})})]}):(0,w.jsx)(`p`,{className:`f-muted`,"aria-live":`polite`,children:a?`Loading your profile…`:``}),(0,w.jsx)(D,{}),(0,w.jsx)(L,{})]})}function P(e){let{me:t}=e,n=(0,b.useId)(),{reloadViewer:r}=o(),[a,s]=d(A),[c,l]=(0,b.useState)(t.displayName),[u,f]=(0,b.useState)(t.location??``),[p,m]=(0,b.useState)({}),[y,x]=(0,b.useState)(!1),[S,C]=(0,b.useState)({name:t.displayName,location:t.location??``});if(S.name!==t.displayName||S.location!==(t.location??``)){let e={name:t.displayName,location:t.location??``};c===S.name&&l(e.name),u===S.location&&f(e.location),C(e)}let T=async t=>{t.preventDefault(),x(!1);let a=g(c)??void 0,o=h(u)??void 0;if(m({name:a,location:o}),a||o){document.getElementById(a?`${n}-name`:`${n}-location`)?.focus();return}let l=await s({input:{displayName:_(c),location:_(u)}});l.error?m({server:i(l.error)}):(x(!0),e.refetch(),await r())};return(0,w.jsxs)(`section`,{className:`f-section`,"aria-labelledby":`${n}-h`,children:[(0,w.jsx)(`h3`,{id:`${n}-h`,children:`About you`}),(0,w.jsxs)(`p`,{className:`f-muted f-hint`,children:[`Signed in as @`,t.username,`.`]}),(0,w.jsxs)(`form`,{className:`f-form`,onSubmit:e=>void T(e),noValidate:!0,children:[(0,w.jsxs)(`div`,{className:`f-field`,children:[(0,w.jsx)(`label`,{htmlFor:`${n}-name`,className:`f-label`,children:`Display name`}),(0,w.jsx)(`input`,{id:`${n}-name`,value:c,autoComplete:`name`,"aria-invalid":p.name?!0:void 0,"aria-describedby":`${n}-name-hint`,onChange:e=>{l(e.target.value),x(!1)}}),(0,w.jsxs)(`p`,{id:`${n}-name-hint`,className:`f-hint`,children:[`What others see: 1–`,64,` characters.`]}),(0,w.jsx)(v,{message:p.name})]}),(0,w.jsxs)(`div`,{className:`f-field`,children:[(0,w.jsx)(`label`,{htmlFor:`${n}-location`,className:`f-label`,children:`Location`}),(0,w.jsx)(`input`,{id:`${n}-location`,value:u,autoComplete:`address-level2`,"aria-invalid":p.location?!0:void 0,"aria-describedby":`${n}-location-hint`,onChange:e=>{f(e.target.value),x(!1)}}),(0,w.jsxs)(`p`,{id:`${n}-location-hint`,className:`f-hint`,children:[`Optional, up to `,100,` characters; empty removes it.`]}),(0,w.jsx)(v,{message:p.location})]}),(0,w.jsx)(v,{message:p.server}),(0,w.jsx)(`div`,{className:`f-actions`,children:(0,w.jsx)(`button`,{type:`submit`,className:`primary`,disabled:a.fetching,children:a.fetching?`Saving…`:`Save profile`})}),(0,w.jsx)(`p`,{role:`status`,className:`f-ok`,children:y?`Profile saved.`:``})]})]})}function F(e){let[t,n]=(0,b.useState)(null);return(0,b.useEffect)(()=>{if(!e){n(null);return}let t=URL.createObjectURL(e);return n(t),()=>URL.revokeObjectURL(t)},[e]),t}function I(e){let{me:t}=e,n=(0,b.useId)(),{reloadViewer:r}=o(),[a,c]=d(j),[l,u]=d(M),[f,m]=(0,b.useState)(null),[h,g]=(0,b.useState)(null),[_,y]=(0,b.useState)(null),x=(0,b.useRef)(null),T=F(f),E=a.fetching||l.fetching,D=()=>{m(null),x.current&&(x.current.value=``)},O=e=>{y(null);let t=e.target.files?.[0]??null;if(!t){m(null),g(null);return}let n=C(t);g(n),m(n?null:t)},k=async()=>{if(!f)return;g(null),y(null);let t=await c({file:f});t.error?g(i(t.error)):(D(),y(`Your new picture is saved.`),e.refetch(),await r())},A=async()=>{g(null),y(null);let t=await u({});t.error?g(i(t.error)):(y(`Your picture was removed.`),e.refetch(),await r())};return(0,w.jsxs)(`section`,{className:`f-section`,"aria-labelledby":`${n}-h`,children:[(0,w.jsx)(`h3`,{id:`${n}-h`,children:`Picture`}),(0,w.jsxs)(`div`,{className:`f-pictures`,children:[(0,w.jsxs)(`figure`,{className:`f-picture`,children:[t.avatar?(0,w.jsx)(`img`,{className:`f-picture-img`,src:t.avatar.url,alt:`Your profile picture`,width:128,height:128}):(0,w.jsx)(`span`,{className:`f-picture-img f-picture-initials`,role:`img`,"aria-label":`No picture yet: your initials`,children:s(t.displayName)||`?`}),(0,w.jsx)(`figcaption`,{className:`f-muted`,children:`Now`})]}),T&&f&&(0,w.jsxs)(`figure`,{className:`f-picture`,children:[(0,w.jsx)(`img`,{className:`f-picture-img`,src:T,alt:`Preview of the new picture`,width:128,height:128}),(0,w.jsxs)(`figcaption`,{className:`f-muted`,children:[`New (`,p(f.size),`), not saved yet`]})]})]}),(0,w.jsxs)(`div`,{className:`f-field`,children:[(0,w.jsx)(`label`,{htmlFor:`${n}-file`,className:`f-label`,children:`Profile picture`}),(0,w.jsx)(`input`,{ref:x,id:`${n}-file`,type:`file`,accept:S,disabled:E,"aria-describedby":`${n}-file-hint`,onChange:O}),(0,w.jsx)(`p`,{id:`${n}-file-hint`,className:`f-hint`,children:`JPEG, PNG, WebP or GIF, up to 5 MB. It is cropped to a square.`})]}),(0,w.jsx)(v,{message:h}),(0,w.jsxs)(`div`,{className:`f-actions`,children:[(0,w.jsx)(`button`,{type:`button`,className:`primary`,disabled:!f||E,onClick:()=>void k(),children:a.fetching?`Uploading…`:`Upload picture`}),f&&(0,w.jsx)(`button`,{type:`button`,disabled:E,onClick:D,children:`Keep the current picture`}),(0,w.jsx)(`button`,{type:`button`,disabled:!t.avatar||E,onClick:()=>void A(),children:l.fetching?`Removing…`:`Remove picture`})]}),(0,w.jsx)(`p`,{role:`status`,className:`f-ok`,children:_??``})]})}function L(){let e=(0,b.useId)(),{signOut:t,signOutEverywhere:n}=o(),[r,a]=(0,b.useState)(!1),s=u(),[c,l]=(0,b.useState)(null),d=async e=>{a(!0),l(null);try{await e()}catch(e){l(i(e)),a(!1)}};return(0,w.jsxs)(`section`,{className:`f-section`,"aria-labelledby":`${e}-h`,children:[(0,w.jsx)(`h3`,{id:`${e}-h`,children:`Signing out`}),(0,w.jsxs)(`div`,{className:`f-actions`,children:[(0,w.jsx)(`button`,{type:`button`,disabled:r,onClick:()=>void d(t),children:`Sign out`}),!s.confirming&&(0,w.jsx)(`button`,{ref:s.trigger,type:`button`,disabled:r,onClick:s.ask,children:`Sign out everywhere`})]}),s.confirming&&(0,w.jsx)(m,{question:`End every sign-in of this account, on all your devices and browsers?`,confirmLabel:`Yes, on every device`,busyLabel:`Signing out…`,busy:r,onConfirm:()=>void d(n),onCancel:s.cancel}),(0,w.jsx)(v,{message:c})]})}export{N as ProfileSettings};