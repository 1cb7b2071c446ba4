import{a as e}from"./rolldown-runtime-DoHqwKmD.js";import{a as t,n}from"./preload-helper-BGqbAlK5.js";import{a as r,d as i,f as a,h as o,i as s,l as c,m as l,n as u,o as d,p as f,r as p,s as m,t as h}from"./index-unUunz_y.js";import{a as g,r as _,s as v,t as y}from"./shared-BEd7kF1C.js";import{t as b}from"./PageStatus-gzvL_wDL.js";import{t as x}from"./format-CICpAGAx.js";var S=e(t(),1),C=n(),w=a(`
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
`),T=50;function E(){let e=(0,S.useId)(),t=c(),n=(0,S.useRef)(null),[r,i]=(0,S.useState)([null]),[a,o]=(0,S.useState)(0),[s,l]=(0,S.useState)(null),[u,d]=(0,S.useState)(null),[f,p]=(0,S.useState)(``);async function m(e){l(e.id),d(null),p(``);let r=await t.setBlocked(e.id,!1);l(null),r?d(r):(p(`${e.displayName} is unblocked.`),i([null]),o(e=>e+1),n.current?.focus())}return(0,C.jsxs)(`section`,{className:`f-section`,"aria-labelledby":`${e}-h`,children:[(0,C.jsx)(`h3`,{id:`${e}-h`,ref:n,tabIndex:-1,children:`Blocked users`}),(0,C.jsx)(`p`,{className:`f-hint`,children:`People you blocked cannot message you or start a conversation with you; in groups their messages are collapsed.`}),(0,C.jsx)(`ul`,{className:`f-people`,"aria-labelledby":`${e}-h`,children:r.map((e,t)=>(0,C.jsx)(D,{after:e,first:t===0,last:t===r.length-1,busy:s,onMore:e=>i([...r,e]),onUnblock:e=>void m(e)},`${a}:${e??``}`))}),(0,C.jsx)(y,{message:u}),(0,C.jsx)(`p`,{role:`status`,className:`f-ok`,children:f})]})}function D(e){let[{data:t,error:n,fetching:r},i]=l({query:w,variables:{first:T,after:e.after},requestPolicy:`network-only`});if(!t)return(0,C.jsx)(b,{error:n,fetching:r,busyText:`Loading…`,onRetry:()=>i({requestPolicy:`network-only`})});let{nodes:a,pageInfo:o}=t.blockedUsers;return(0,C.jsxs)(C.Fragment,{children:[e.first&&a.length===0&&(0,C.jsx)(`li`,{className:`f-people-status f-muted`,children:`You have not blocked anyone.`}),a.map(({user:t,blockedAt:n})=>(0,C.jsxs)(`li`,{className:`f-person`,children:[(0,C.jsx)(p,{name:t.displayName,url:t.avatar?.url,size:36}),(0,C.jsxs)(`span`,{className:`f-person-name`,children:[(0,C.jsx)(`span`,{className:`f-strong`,children:t.displayName}),(0,C.jsxs)(`span`,{className:`f-username`,children:[`@`,t.username,` · blocked `,(0,C.jsx)(`time`,{dateTime:n,children:x(n)})]})]}),(0,C.jsx)(`button`,{type:`button`,"aria-label":`Unblock ${t.displayName}`,disabled:e.busy!==null,onClick:()=>e.onUnblock(t),children:e.busy===t.id?`Unblocking…`:`Unblock`})]},t.id)),e.last&&o.hasNextPage&&o.endCursor&&(0,C.jsx)(`li`,{className:`f-people-status`,children:(0,C.jsx)(`button`,{type:`button`,onClick:()=>e.onMore(o.endCursor),children:`Show more blocked users`})})]})}var O=a(`
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
`),k=a(`
  mutation UpdateProfile($input: UpdateProfileInput!) {
    updateProfile(input: $input) {
      id
      displayName
      location
    }
  }
`),A=a(`
  mutation UploadAvatar($file: Upload!) {
    uploadAvatar(file: $file) {
      id
      avatar {
        url(size: 256)
      }
    }
  }
`),j=a(`
  mutation RemoveAvatar {
    removeAvatar {
      id
      avatar {
        url(size: 256)
      }
    }
  }
`);function M(e){let t=(0,S.useId)(),[{data:n,error:r,fetching:a},o]=l({query:O,requestPolicy:`cache-and-network`}),s=()=>o({requestPolicy:`network-only`});return(0,C.jsxs)(`section`,{className:`f-page`,"aria-labelledby":`${t}-h`,children:[(0,C.jsx)(`h2`,{id:`${t}-h`,children:`Profile`}),n?(0,C.jsxs)(C.Fragment,{children:[(0,C.jsx)(F,{me:n.me,refetch:s}),(0,C.jsx)(N,{me:n.me,refetch:s})]}):r?(0,C.jsxs)(`div`,{className:`f-section`,children:[(0,C.jsx)(`p`,{role:`alert`,className:`f-error`,children:i(r)}),(0,C.jsx)(`div`,{className:`f-actions`,children:(0,C.jsx)(`button`,{type:`button`,onClick:s,children:`Try again`})})]}):(0,C.jsx)(`p`,{className:`f-muted`,"aria-live":`polite`,children:a?`Loading your profile…`:``}),(0,C.jsx)(E,{}),(0,C.jsx)(I,{})]})}function N(e){let{me:t}=e,n=(0,S.useId)(),{reloadViewer:r}=o(),[a,s]=f(k),[c,l]=(0,S.useState)(t.displayName),[u,d]=(0,S.useState)(t.location??``),[p,m]=(0,S.useState)({}),[h,b]=(0,S.useState)(!1),[x,w]=(0,S.useState)({name:t.displayName,location:t.location??``});if(x.name!==t.displayName||x.location!==(t.location??``)){let e={name:t.displayName,location:t.location??``};c===x.name&&l(e.name),u===x.location&&d(e.location),w(e)}let T=async t=>{t.preventDefault(),b(!1);let a=_(c)??void 0,o=g(u)??void 0;if(m({name:a,location:o}),a||o){document.getElementById(a?`${n}-name`:`${n}-location`)?.focus();return}let l=await s({input:{displayName:v(c),location:v(u)}});l.error?m({server:i(l.error)}):(b(!0),e.refetch(),await r())};return(0,C.jsxs)(`section`,{className:`f-section`,"aria-labelledby":`${n}-h`,children:[(0,C.jsx)(`h3`,{id:`${n}-h`,children:`About you`}),(0,C.jsxs)(`p`,{className:`f-muted f-hint`,children:[`Signed in as @`,t.username,`.`]}),(0,C.jsxs)(`form`,{className:`f-form`,onSubmit:e=>void T(e),noValidate:!0,children:[(0,C.jsxs)(`div`,{className:`f-field`,children:[(0,C.jsx)(`label`,{htmlFor:`${n}-name`,className:`f-label`,children:`Display name`}),(0,C.jsx)(`input`,{id:`${n}-name`,value:c,autoComplete:`name`,"aria-invalid":p.name?!0:void 0,"aria-describedby":`${n}-name-hint`,onChange:e=>{l(e.target.value),b(!1)}}),(0,C.jsxs)(`p`,{id:`${n}-name-hint`,className:`f-hint`,children:[`What others see: 1–`,64,` characters.`]}),(0,C.jsx)(y,{message:p.name})]}),(0,C.jsxs)(`div`,{className:`f-field`,children:[(0,C.jsx)(`label`,{htmlFor:`${n}-location`,className:`f-label`,children:`Location`}),(0,C.jsx)(`input`,{id:`${n}-location`,value:u,autoComplete:`address-level2`,"aria-invalid":p.location?!0:void 0,"aria-describedby":`${n}-location-hint`,onChange:e=>{d(e.target.value),b(!1)}}),(0,C.jsxs)(`p`,{id:`${n}-location-hint`,className:`f-hint`,children:[`Optional, up to `,100,` characters; empty removes it.`]}),(0,C.jsx)(y,{message:p.location})]}),(0,C.jsx)(y,{message:p.server}),(0,C.jsx)(`div`,{className:`f-actions`,children:(0,C.jsx)(`button`,{type:`submit`,className:`primary`,disabled:a.fetching,children:a.fetching?`Saving…`:`Save profile`})}),(0,C.jsx)(`p`,{role:`status`,className:`f-ok`,children:h?`Profile saved.`:``})]})]})}function P(e){let[t,n]=(0,S.useState)(null);return(0,S.useEffect)(()=>{if(!e){n(null);return}let t=URL.createObjectURL(e);return n(t),()=>URL.revokeObjectURL(t)},[e]),t}function F(e){let{me:t}=e,n=(0,S.useId)(),{reloadViewer:a}=o(),[c,l]=f(A),[u,p]=f(j),[h,g]=(0,S.useState)(null),[_,v]=(0,S.useState)(null),[b,x]=(0,S.useState)(null),w=(0,S.useRef)(null),T=P(h),E=c.fetching||u.fetching,D=()=>{g(null),w.current&&(w.current.value=``)},O=e=>{x(null);let t=e.target.files?.[0]??null;if(!t){g(null),v(null);return}let n=d(t);v(n),g(n?null:t)},k=async()=>{if(!h)return;v(null),x(null);let t=await l({file:h});t.error?v(i(t.error)):(D(),x(`Your new picture is saved.`),e.refetch(),await a())},M=async()=>{v(null),x(null);let t=await p({});t.error?v(i(t.error)):(x(`Your picture was removed.`),e.refetch(),await a())};return(0,C.jsxs)(`section`,{className:`f-section`,"aria-labelledby":`${n}-h`,children:[(0,C.jsx)(`h3`,{id:`${n}-h`,children:`Picture`}),(0,C.jsxs)(`div`,{className:`f-pictures`,children:[(0,C.jsxs)(`figure`,{className:`f-picture`,children:[t.avatar?(0,C.jsx)(`img`,{className:`f-picture-img`,src:t.avatar.url,alt:`Your profile picture`,width:128,height:128}):(0,C.jsx)(`span`,{className:`f-picture-img f-picture-initials`,role:`img`,"aria-label":`No picture yet: your initials`,children:s(t.displayName)||`?`}),(0,C.jsx)(`figcaption`,{className:`f-muted`,children:`Now`})]}),T&&h&&(0,C.jsxs)(`figure`,{className:`f-picture`,children:[(0,C.jsx)(`img`,{className:`f-picture-img`,src:T,alt:`Preview of the new picture`,width:128,height:128}),(0,C.jsxs)(`figcaption`,{className:`f-muted`,children:[`New (`,m(h.size),`), not saved yet`]})]})]}),(0,C.jsxs)(`div`,{className:`f-field`,children:[(0,C.jsx)(`label`,{htmlFor:`${n}-file`,className:`f-label`,children:`Profile picture`}),(0,C.jsx)(`input`,{ref:w,id:`${n}-file`,type:`file`,accept:r,disabled:E,"aria-describedby":`${n}-file-hint`,onChange:O}),(0,C.jsx)(`p`,{id:`${n}-file-hint`,className:`f-hint`,children:`JPEG, PNG, WebP or GIF, up to 5 MB. It is cropped to a square.`})]}),(0,C.jsx)(y,{message:_}),(0,C.jsxs)(`div`,{className:`f-actions`,children:[(0,C.jsx)(`button`,{type:`button`,className:`primary`,disabled:!h||E,onClick:()=>void k(),children:c.fetching?`Uploading…`:`Upload picture`}),h&&(0,C.jsx)(`button`,{type:`button`,disabled:E,onClick:D,children:`Keep the current picture`}),(0,C.jsx)(`button`,{type:`button`,disabled:!t.avatar||E,onClick:()=>void M(),children:u.fetching?`Removing…`:`Remove picture`})]}),(0,C.jsx)(`p`,{role:`status`,className:`f-ok`,children:b??``})]})}function I(){let e=(0,S.useId)(),{signOut:t,signOutEverywhere:n}=o(),[r,a]=(0,S.useState)(!1),s=u(),[c,l]=(0,S.useState)(null),d=async e=>{a(!0),l(null);try{await e()}catch(e){l(i(e)),a(!1)}};return(0,C.jsxs)(`section`,{className:`f-section`,"aria-labelledby":`${e}-h`,children:[(0,C.jsx)(`h3`,{id:`${e}-h`,children:`Signing out`}),(0,C.jsxs)(`div`,{className:`f-actions`,children:[(0,C.jsx)(`button`,{type:`button`,disabled:r,onClick:()=>void d(t),children:`Sign out`}),!s.confirming&&(0,C.jsx)(`button`,{ref:s.trigger,type:`button`,disabled:r,onClick:s.ask,children:`Sign out everywhere`})]}),s.confirming&&(0,C.jsx)(h,{question:`End every sign-in of this account, on all your devices and browsers?`,confirmLabel:`Yes, on every device`,busyLabel:`Signing out…`,busy:r,onConfirm:()=>void d(n),onCancel:s.cancel}),(0,C.jsx)(y,{message:c})]})}export{M as ProfileSettings};